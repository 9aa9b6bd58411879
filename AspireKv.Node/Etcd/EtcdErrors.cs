using AspireKv.Node.StateMachine;
using Grpc.Core;

namespace AspireKv.Node.Etcd;

/// <summary>
/// etcd's errors, with the codes and exact messages etcd clients recognise (clientv3 turns them
/// back into its typed errors by their text), as etcd's api/v3rpc/rpctypes declares them.
/// </summary>
public static class EtcdErrors
{
    public static RpcException Compacted => new(new Status(StatusCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted"));

    public static RpcException FutureRevision => new(new Status(StatusCode.OutOfRange, "etcdserver: mvcc: required revision is a future revision"));

    public static RpcException LeaseNotFound => new(new Status(StatusCode.NotFound, "etcdserver: requested lease not found"));

    public static RpcException LeaseExists => new(new Status(StatusCode.FailedPrecondition, "etcdserver: lease already exists"));

    public static RpcException KeyNotFound => new(new Status(StatusCode.InvalidArgument, "etcdserver: key not found"));

    public static RpcException EmptyKey => new(new Status(StatusCode.InvalidArgument, "etcdserver: key is not provided"));

    public static RpcException TooManyOperations => new(new Status(StatusCode.InvalidArgument, "etcdserver: too many operations in txn request"));

    public static RpcException DuplicateKey => new(new Status(StatusCode.InvalidArgument, "etcdserver: duplicate key given in txn request"));

    public static RpcException ValueProvided => new(new Status(StatusCode.InvalidArgument, "etcdserver: value is provided"));

    public static RpcException LeaseProvided => new(new Status(StatusCode.InvalidArgument, "etcdserver: lease is provided"));

    public static RpcException PermissionDenied => new(new Status(StatusCode.PermissionDenied, "etcdserver: permission denied"));

    public static RpcException AuthFailed => new(new Status(StatusCode.InvalidArgument, "etcdserver: authentication failed, invalid user ID or password"));

    public static RpcException InvalidAuthToken => new(new Status(StatusCode.Unauthenticated, "etcdserver: invalid auth token"));

    public static RpcException UserEmpty => Auth(AuthErrors.UserEmpty);

    public static RpcException AuthNotEnabled => new(new Status(StatusCode.FailedPrecondition, "etcdserver: authentication is not enabled"));

    /// <summary>An auth change refused with etcd's text, under etcd's code for it.</summary>
    public static RpcException Auth(string text) => new(new Status(
        text is AuthErrors.UserEmpty or AuthErrors.RoleEmpty or AuthErrors.InvalidAuthManagement or AuthErrors.OldRevision ? StatusCode.InvalidArgument : StatusCode.FailedPrecondition,
        text));

    public static RpcException Unimplemented(string what) => new(new Status(StatusCode.Unimplemented, $"AspireKv's etcd API does not support {what}; see docs/etcd-compatibility.md."));

    /// <summary>The state machine's refusal as etcd says it; null for an outcome that is not an error.</summary>
    public static RpcException? From(CommandOutcome outcome) => outcome switch
    {
        CommandOutcome.Compacted => Compacted,
        CommandOutcome.FutureRevision => FutureRevision,
        CommandOutcome.LeaseNotFound => LeaseNotFound,
        CommandOutcome.LeaseExists => LeaseExists,
        CommandOutcome.KeyNotFound => KeyNotFound,
        _ => null,
    };
}
