"""The connection and security layer: settings, the Temporal client, encryption and the codec
server, and how a process that used the client leaves."""
