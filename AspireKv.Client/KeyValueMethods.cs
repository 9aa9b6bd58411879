using AspireKv.Grpc;
using AspireKv.V1;

namespace AspireKv.Client;

/// <summary>The methods of <c>aspirekv.v1.KeyValue</c>, as the runtime calls and serves them.</summary>
public static class KeyValueMethods
{
    public const string ServiceName = "aspirekv.v1.KeyValue";

    public static Method<PutRequest, PutResponse> Put { get; } = Unary("Put", PutRequest.Parser, PutResponse.Parser);

    public static Method<GetRequest, GetResponse> Get { get; } = Unary("Get", GetRequest.Parser, GetResponse.Parser);

    public static Method<DeleteRequest, DeleteResponse> Delete { get; } = Unary("Delete", DeleteRequest.Parser, DeleteResponse.Parser);

    public static Method<ListRequest, ListResponse> List { get; } = Unary("List", ListRequest.Parser, ListResponse.Parser);

    public static Method<StatusRequest, StatusResponse> Status { get; } = Unary("Status", StatusRequest.Parser, StatusResponse.Parser);

    private static Method<TRequest, TResponse> Unary<TRequest, TResponse>(
        string name, Google.Protobuf.MessageParser<TRequest> request, Google.Protobuf.MessageParser<TResponse> response)
        where TRequest : Google.Protobuf.IMessage<TRequest>
        where TResponse : Google.Protobuf.IMessage<TResponse> =>
        new(MethodType.Unary, ServiceName, name, Marshallers.Protobuf(request), Marshallers.Protobuf(response));
}
