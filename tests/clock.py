"""The simulated "today" of every test that simulates: a fixed date, so a test gives the same
result on whatever calendar day it runs (tests/simulator covers other "today"s)."""

from datetime import date

SIM_END = date(2026, 11, 30)
