"""Base page templates every theme builds on (package data)."""
