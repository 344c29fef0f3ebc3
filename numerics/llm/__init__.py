"""Text agents: the chat-completions client and the regression task as text."""
