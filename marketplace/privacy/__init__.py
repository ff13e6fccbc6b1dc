"""Privacy under UK GDPR: a person's data export, erasure (``user.erased``) and retention purges.

The core cannot import the feature apps, so each app declares what it holds about a person in its own
``privacy.py`` (registered from its ``AppConfig.ready()``): how to export it, how to erase it, and what
must stop an erasure for now.  See ``registry.py`` and the README's *Privacy* section.
"""
