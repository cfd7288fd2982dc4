"""Red flags: OCP Cardinal's eleven indicators and Prongsai's Thai flags TH01-TH13.

A flag is a risk signal, never proof. ``definitions`` describes every flag, ``cardinal`` and
``thai`` compute them in SQL, ``build`` publishes them, ``explain`` renders them in Thai and English.
"""
