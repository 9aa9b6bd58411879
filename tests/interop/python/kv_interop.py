"""Calls an AspireKv node with Python's grpcio and stubs generated from kv.proto.

This client was not written by AspireKv: it is the reference gRPC implementation (Debian's
python3-grpcio). The script prints one JSON object of what it observed; the .NET test asserts
on it. Usage: kv_interop.py HOST:PORT (with the generated stubs on PYTHONPATH).
"""
import json
import sys

import grpc
from aspirekv.v1 import kv_pb2, kv_pb2_grpc


def code_of(call):
    try:
        call()
        return {"code": "OK"}
    except grpc.RpcError as error:
        trailers = {k: v for k, v in (error.trailing_metadata() or ())}
        return {"code": error.code().name, "details": error.details(), "trailers": trailers}


def main():
    target = sys.argv[1]
    seen = {}
    with grpc.insecure_channel(target) as channel:
        kv = kv_pb2_grpc.KeyValueStub(channel)

        put = kv.Put(kv_pb2.PutRequest(key="interop/a", value=b"one"), timeout=10)
        seen["put_revision"] = put.revision
        again = kv.Put(kv_pb2.PutRequest(key="interop/a", value=b"two", return_previous=True), timeout=10)
        seen["put_again_revision"] = again.revision
        seen["put_previous_value"] = again.previous.value.decode()

        got = kv.Get(kv_pb2.GetRequest(key="interop/a"), timeout=10)
        seen["get"] = {
            "found": got.found,
            "value": got.entry.value.decode(),
            "create_revision": got.entry.create_revision,
            "mod_revision": got.entry.mod_revision,
            "version": got.entry.version,
            "revision": got.revision,
        }
        serializable = kv.Get(kv_pb2.GetRequest(key="interop/a", consistency=kv_pb2.CONSISTENCY_SERIALIZABLE), timeout=10)
        seen["get_serializable_value"] = serializable.entry.value.decode()

        missing = kv.Get(kv_pb2.GetRequest(key="interop/missing"), timeout=10)
        seen["get_missing"] = {"found": missing.found, "has_entry": missing.HasField("entry")}

        seen["put_empty_key"] = code_of(lambda: kv.Put(kv_pb2.PutRequest(key="", value=b"x"), timeout=10))
        seen["get_empty_key"] = code_of(lambda: kv.Get(kv_pb2.GetRequest(key=""), timeout=10))
        seen["put_long_key"] = code_of(lambda: kv.Put(kv_pb2.PutRequest(key="k" * 5000, value=b"x"), timeout=10))
        seen["put_big_value"] = code_of(lambda: kv.Put(kv_pb2.PutRequest(key="big", value=b"x" * (1024 * 1024 + 1)), timeout=10))
        seen["get_bad_consistency"] = code_of(lambda: kv.Get(kv_pb2.GetRequest(key="a", consistency=7), timeout=10))
        seen["cas_mismatch"] = code_of(lambda: kv.Put(
            kv_pb2.PutRequest(key="interop/a", value=b"three", expected_mod_revision=1), timeout=10))
        cas = kv.Put(kv_pb2.PutRequest(key="interop/a", value=b"three", expected_mod_revision=got.entry.mod_revision), timeout=10)
        seen["cas_match_revision"] = cas.revision

        for i in range(5):
            kv.Put(kv_pb2.PutRequest(key=f"interop/list/{i}", value=str(i).encode()), timeout=10)
        pages = []
        continuation = ""
        while True:
            page = kv.List(kv_pb2.ListRequest(prefix="interop/list/", limit=2, continuation=continuation), timeout=10)
            pages.append([entry.key for entry in page.entries])
            continuation = page.continuation
            if not continuation:
                break
        seen["list_pages"] = pages
        seen["list_bad_continuation"] = code_of(lambda: kv.List(
            kv_pb2.ListRequest(prefix="interop/list/", continuation="not-a-continuation!"), timeout=10))

        deleted = kv.Delete(kv_pb2.DeleteRequest(key="interop/a"), timeout=10)
        seen["delete"] = {"deleted": deleted.deleted, "revision": deleted.revision}
        seen["get_after_delete_found"] = kv.Get(kv_pb2.GetRequest(key="interop/a"), timeout=10).found
        seen["delete_again_deleted"] = kv.Delete(kv_pb2.DeleteRequest(key="interop/a"), timeout=10).deleted
        seen["delete_prefix_deleted"] = kv.Delete(kv_pb2.DeleteRequest(key="interop/list/", prefix=True), timeout=10).deleted

        unknown = channel.unary_unary("/aspirekv.v1.KeyValue/Nope",
                                      request_serializer=lambda m: m.SerializeToString(),
                                      response_deserializer=kv_pb2.GetResponse.FromString)
        seen["unknown_method"] = code_of(lambda: unknown(kv_pb2.GetRequest(key="a"), timeout=10))

        status = kv.Status(kv_pb2.StatusRequest(include_state_hash=True), timeout=10)
        seen["status"] = {
            "node_id": status.node_id,
            "health": kv_pb2.NodeHealth.Name(status.health),
            "applied_revision": status.applied_revision,
            "state_hash_length": len(status.state_hash),
        }

    print(json.dumps(seen))


if __name__ == "__main__":
    main()
