"""revrec: an open-source revenue recognition subledger (ASC 606 / IFRS 15)."""

__version__ = "0.1.0"
