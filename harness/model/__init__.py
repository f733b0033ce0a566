"""The scenario language: the typed model of a scenario file, its parsers and the step/condition tables.

Layers inside (checked by import-linter, see pyproject.toml): ``scenario`` > ``calls`` >
``registry`` > ``base`` > the value types (``matcher``, ``compose``, ``text``, ``duration``) >
``schema``.
"""
