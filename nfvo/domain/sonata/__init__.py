"""SONATA and 5GTANGO descriptors and packages (``.son``, ``.tgo``), read and checked (pure)."""
