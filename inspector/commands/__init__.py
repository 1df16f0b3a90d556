"""One module per command, each a short top-to-bottom story: run, report, status, restore,
demo. cli.py builds the parser from them and dispatches.
"""
