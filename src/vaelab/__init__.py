"""vaelab: hierarchical, auxiliary and semi-supervised variational autoencoders.

Import direction (held by tests/test_imports.py):
distributions <- layers <- models <- objectives <- {train, evaluation} <- config <- cli.
`data` imports nothing else of the package.
"""

__version__ = "0.1.0"
