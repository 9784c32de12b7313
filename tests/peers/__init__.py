"""Real peers for the `real` test tier: kube-apiserver on etcd, aisnode, the ``ais`` CLI.

Built once per machine by ``python -m tests.peers.build`` (Go, from the module proxy) into a
cache outside the repository; started by the fixtures in :mod:`tests.peers.fixtures`.
"""
