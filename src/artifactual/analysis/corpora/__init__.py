"""Corpus-level analyses: labels, preferences, instructions, text style, discourse and motifs."""
