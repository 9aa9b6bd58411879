using Grpc.Core;
using Grpc.Net.Client;

namespace AspireKv.Client;

/// <summary>
/// A user's name and password, for a cluster with auth enabled. A client given them authenticates
/// with etcd's Authenticate on the same node and sends the token it gets as the <c>token</c>
/// metadata of every call, as etcd's clientv3 does, on both APIs.
/// </summary>
public sealed record KvCredentials(string User, string Password)
{
    /// <summary>What <see cref="KvClient"/> and the CLI print: the user, never the password.</summary>
    public override string ToString() => User;
}

/// <summary>
/// The token of one user on one channel: fetched on the first call, and fetched again before it
/// expires (nodes issue tokens for five minutes).
/// </summary>
internal sealed class KvTokenSource(KvCredentials credentials)
{
    /// <summary>Well inside the five minutes a node's token lasts, so that a call never carries one about to expire.</summary>
    private static readonly TimeSpan Refresh = TimeSpan.FromMinutes(4);

    private readonly SemaphoreSlim _fetching = new(1, 1);
    private Etcd.Auth.AuthClient? _auth;
    private (string Token, DateTime FetchedAt)? _token;

    public void Attach(GrpcChannel channel) => _auth = new Etcd.Auth.AuthClient(channel);

    public CallCredentials CallCredentials => Grpc.Core.CallCredentials.FromInterceptor(AddTokenAsync);

    private async Task AddTokenAsync(AuthInterceptorContext context, Metadata metadata)
    {
        // Authenticate itself goes without a token: that is how one is had.
        if (context.MethodName == "Authenticate" || _auth is null)
        {
            return;
        }

        metadata.Add("token", await TokenAsync(context.CancellationToken).ConfigureAwait(false));
    }

    private async Task<string> TokenAsync(CancellationToken cancellationToken)
    {
        if (_token is { } current && DateTime.UtcNow - current.FetchedAt < Refresh)
        {
            return current.Token;
        }

        await _fetching.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is { } fetched && DateTime.UtcNow - fetched.FetchedAt < Refresh)
            {
                return fetched.Token;
            }

            var response = await _auth!.AuthenticateAsync(
                new Etcd.AuthenticateRequest { Name = credentials.User, Password = credentials.Password },
                deadline: DateTime.UtcNow.AddSeconds(30),
                cancellationToken: cancellationToken).ConfigureAwait(false);
            _token = (response.Token, DateTime.UtcNow);
            return response.Token;
        }
        finally
        {
            _fetching.Release();
        }
    }
}
