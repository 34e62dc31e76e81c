"""Graded exercises: seeded templates with verified keys, writers for notebooks and worksheets, a grader.

>>> from symbackprop.exercises import generate, grade_answer
>>> ex = generate("gradient_magnitude", seed=0)
>>> grade_answer(ex.part("a"), ex.part("a").answer).points == ex.part("a").points
True
"""
from .grading import (PartGrade, Submission, SubmissionGrade, autograde, grade_answer, grade_files,
                      grade_submission, read_key, read_submission, readable)
from .model import Exercise, ExerciseError, Key, Part, variant_seed
from .templates import TEMPLATES, generate, generate_set

__all__ = ["Exercise", "ExerciseError", "Key", "Part", "PartGrade", "Submission", "SubmissionGrade", "TEMPLATES",
           "autograde", "generate", "generate_set", "grade_answer", "grade_files", "grade_submission", "read_key",
           "read_submission", "readable", "variant_seed"]
