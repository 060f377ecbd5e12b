"""Local replicas of the museum APIs and their image servers, for tests and benchmarks.

replica = start_replica("aic", records=5000, fault_rate=0.1, seed=1)
replica.base_url        # pass as `artsearch crawl aic --base-url …`
replica.image_base_url  # where the replica's image URLs point
replica.request_counts  # Counter of "path?sorted-query" → requests answered (faults included)
replica.touch([ids], when)  # mark records changed (for incremental runs)
replica.tamper(id, primaryImage="file:///etc/passwd")  # a hostile upstream's record (Met)
replica.stop()
"""

from .server import FAULT_KINDS, ReplicaServer, start_replica

__all__ = ["FAULT_KINDS", "ReplicaServer", "start_replica"]
