"""The operator's CLI, `campaign` (starter.py is its entry point): app.py assembles the commands
(commands.py, batch_command.py); connection.py reaches Temporal; follow.py follows a campaign
live; rendering.py prints; options.py and console.py are what they share."""
