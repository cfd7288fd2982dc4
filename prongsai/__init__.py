"""Prongsai (โปร่งใส): Thai public procurement, open to citizens, journalists and volunteers."""

__version__ = "0.1.0"
