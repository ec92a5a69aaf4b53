"""deepcritic: train math critic LLMs that critique step-by-step solutions and name the first wrong step."""

__version__ = "0.1.0"
