"""The learner: turns analysts' verdicts into the online tier's model, one verdict at a time."""
