"""Trofast: open-source customer loyalty and retention for shops online and in stores."""

__version__ = "0.1.0"
