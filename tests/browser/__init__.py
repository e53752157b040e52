"""Browser tests: headless Chromium against the built site (run by `nox -s browser`)."""
