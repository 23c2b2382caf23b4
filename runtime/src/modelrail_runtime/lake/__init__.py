"""The lake around the service: where its tables are (`location`), ground-truth labels,
realized performance, compaction.

Run the jobs with ``python -m modelrail_runtime.lake <command>`` (``--help`` lists them).
"""
