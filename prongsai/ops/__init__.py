"""Running Prongsai for real: refresh, publish, backup/restore and check.

Each module holds one job; ``commands`` wires them into the ``prongsai`` CLI.
"""
