"""The implementation of :mod:`graphlab.serialization` (the public module, which describes the
file format): :mod:`.format` (layout constants, data region, chunk checksums), :mod:`.write`
(``save``, atomic writes), :mod:`.read` (``load``) and :mod:`.decode` (the header's schema and
object tree)."""
