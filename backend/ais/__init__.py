"""The async AIStore client the app uses for everything.

    async with AisClient("http://127.0.0.1:8080", token=load_token()) as ais:
        page = await ais.list_objects("images", prefix="train/")

Every call has a timeout and never blocks the event loop; every failure is an
:class:`AisError` whose ``str()`` is one readable line.
"""

from .._names import bucket_name_problem, etl_name_problem
from ._auth import load_token, read_token_file
from ._client import AisClient
from ._errors import (
    AisError,
    AlreadyExists,
    ApiError,
    ConnectionFailed,
    EtlNotBuilt,
    Forbidden,
    NotFound,
    ReadOnly,
    Unauthorized,
)
from ._etl_error import EtlFailure, parse_etl_error
from ._etl_msgs import (
    class_init_msg,
    code_init_msg,
    parse_pipeline,
    pipeline_text,
    runtime_spec_for_pod,
    server_init_msg,
    spec_init_msg,
)
from ._models import (
    BucketInfo,
    BucketSummary,
    ClusterMap,
    EtlDetails,
    EtlInfo,
    EtlLogs,
    EtlPod,
    JobSnap,
    JobStatus,
    Node,
    ObjectEntry,
    ObjectPage,
    ObjError,
)

__all__ = [
    "AisClient",
    "AisError",
    "AlreadyExists",
    "ApiError",
    "BucketInfo",
    "BucketSummary",
    "ClusterMap",
    "ConnectionFailed",
    "EtlDetails",
    "EtlFailure",
    "EtlInfo",
    "EtlLogs",
    "EtlNotBuilt",
    "EtlPod",
    "Forbidden",
    "JobSnap",
    "JobStatus",
    "Node",
    "NotFound",
    "ObjError",
    "ObjectEntry",
    "ObjectPage",
    "ReadOnly",
    "Unauthorized",
    "bucket_name_problem",
    "class_init_msg",
    "code_init_msg",
    "etl_name_problem",
    "load_token",
    "parse_etl_error",
    "parse_pipeline",
    "pipeline_text",
    "read_token_file",
    "runtime_spec_for_pod",
    "server_init_msg",
    "spec_init_msg",
]
