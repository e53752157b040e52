"""The code the handbook's pages embed: one module per topic, grouped by chapter."""
