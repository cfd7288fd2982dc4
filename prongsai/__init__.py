"""Prongsai (โปร่งใส): Thai public procurement, open to citizens, journalists and volunteers."""
