namespace Proxima.Catalog;

/// <summary>
/// A setting from the environment or the command line that cannot be used (a malformed URL, an
/// unknown backend, a number that is not one); the message names the setting and the value. The CLI
/// answers it with <c>error: message</c> and exit code 2, never a stack trace: it is the operator's
/// input, not a bug.
/// </summary>
public sealed class InvalidConfigurationException(string message) : Exception(message);
