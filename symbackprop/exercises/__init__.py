"""Graded exercises: seeded templates with verified keys, writers for notebooks and worksheets, a grader.

>>> from symbackprop.exercises import generate, grade_answer
>>> ex = generate("gradient_magnitude", seed=0)
>>> grade_answer(ex.part("a"), ex.part("a").answer).points == ex.part("a").points
True
"""
from .model import Exercise, ExerciseError, Key, Part, variant_seed
from .templates import TEMPLATES, generate, generate_set

__all__ = ["Exercise", "ExerciseError", "Key", "Part", "TEMPLATES", "generate", "generate_set", "variant_seed"]
