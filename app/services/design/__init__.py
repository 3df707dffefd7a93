"""What process designers do: the modeler's vocabulary, drafts, checks and deploys from the browser."""
