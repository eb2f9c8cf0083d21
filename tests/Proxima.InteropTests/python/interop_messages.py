"""Loads the proxima.testing messages from the serialized FileDescriptorProto the C# test writes
(Proxima.Protocol.Testing.InteropReflection.Descriptor), so no protoc/grpc-tools is needed and the
schema is the one our generated C# code uses."""
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

SERVICE = "proxima.testing.Interop"


def load(descriptor_path):
    with open(descriptor_path, "rb") as f:
        fdp = descriptor_pb2.FileDescriptorProto.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    classes = []
    for name in ("EchoRequest", "EchoResponse"):
        desc = pool.FindMessageTypeByName("proxima.testing." + name)
        get = getattr(message_factory, "GetMessageClass", None)
        classes.append(get(desc) if get else message_factory.MessageFactory(pool).GetPrototype(desc))
    return classes[0], classes[1]


def pattern(n):
    """Deterministic payload both sides generate: byte i = i % 251."""
    block = bytes(range(251))
    return (block * (n // 251 + 1))[:n]
