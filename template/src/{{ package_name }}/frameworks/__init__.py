"""Model frameworks: one module per framework, all implementing `base.Framework`.

`selected.framework` is the one this service was generated for. Importing this package
stays cheap; the framework's libraries load only when `selected` is imported.
"""
