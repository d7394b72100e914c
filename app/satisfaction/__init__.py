"""Customer satisfaction surveys: sent when a case closes, answered once through a signed link."""
