"""Everything Kotha runs: the pipeline, the channels, the staff features, the command line.

Its top holds the settings (the only module that reads the environment), the app factory
and the wiring of one deployment (services.py), and the vocabulary every layer shares
(types, clock, i18n, sms). ARCHITECTURE.md says what each subpackage holds.
"""
