"""The paper's protocol on M4A1: its splits, its judge, its recipes, the oracle and the tables."""
