"""Amaranth RTL designs (installed as hwsim.rtl)."""
