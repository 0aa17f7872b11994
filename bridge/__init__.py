"""mqdrill: rehearse RocketMQ failures and decide, with evidence, whether each application
depends on the message middleware strongly or weakly.

Kept import-light on purpose: ``mqdrill --help`` must start fast, so submodules are imported
where they are used.
"""

__version__ = "0.1.0"
