using AspireKv.Node.StateMachine;
using Google.Protobuf;

namespace AspireKv.Node.Snapshots;

/// <summary>Loads a node's snapshot at start, and moves a damaged one aside instead of failing the start.</summary>
public static class SnapshotLoader
{
    /// <summary>The state in the snapshot, or null when there is none (or it was damaged and moved aside).</summary>
    public static KvStateMachine? Load(SnapshotStore store, ILogger logger)
    {
        try
        {
            var capture = store.Load();
            if (capture is null)
            {
                logger.LogInformation("No snapshot at {Path}; replaying the log from its start.", store.Path);
                return null;
            }

            logger.LogInformation(
                "Loaded the snapshot at {Path}: revision {Revision}, {Keys} keys, resuming at log offset {Offset}.",
                store.Path, capture.Revision, capture.Keys.Count, capture.AppliedOffset);
            return KvStateMachine.Restore(capture);
        }
        catch (Exception ex) when (ex is InvalidDataException or InvalidProtocolBufferException or IOException)
        {
            var aside = store.Path + ".damaged";
            File.Move(store.Path, aside, overwrite: true);
            logger.LogError("The snapshot at {Path} cannot be used ({Error}); it was moved to {Aside} and the log is replayed from its start.", store.Path, ex.Message, aside);
            return null;
        }
    }
}
