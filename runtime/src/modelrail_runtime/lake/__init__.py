"""The prediction lake: where it is (`location`) and the jobs that maintain and read it.

Run the jobs with ``python -m modelrail_runtime.lake <command>`` (``--help`` lists them).
"""
