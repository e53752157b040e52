"""Benchmarks of the handbook's hand-written ops against the libraries they mirror.

``python -m bench.run`` (or ``nox -s bench``) times each op in its naive and fast forms against
torchvision / timm / torch.nn.functional on CPU and writes ``bench/results.json`` and
``bench/results.md``; ``--quick`` is the short smoke run CI can afford. ``python -m
bench.site_scale`` measures how the site build grows with the number of pages. The benchmark page
(``docs/<lang>/benchmarks.md``) is drawn from ``results.json`` at build time by
``tools/bench_page.py``.
"""
