"""Views of the plans app: editing the working copy, the workflow and versions, printouts."""
