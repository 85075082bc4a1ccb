"""Feedback and recommendations (phản ánh, kiến nghị) and questions (hỏi – đáp), from submission
to published answer (Quảng Ngãi art. 19–20; Kon Tum ch. IV; Decree 20/2008).

The path, one rule per act:

- **submit** (`submission`) — a citizen or organisation account (channel ONLINE), an application
  holding the `feedback:submit` scope (OPEN311, with the person's contact), or a staff member
  entering a letter, call or e-mail (LETTER / PHONE / EMAIL) at an agency where they are focal
  point or one-stop officer. It may be about a procedure, an agency or one of the submitter's
  dossiers. The **focal agency** is that of the subject (the dossier's receiving agency, the named
  agency, the procedure's competent agency), else a one-stop unit able to act on it, found from
  `FEEDBACK_FOCAL_AGENCY` or the top of the tree (`routing`). The focal point must classify it
  within **3 working days** (`classify_due_at`).
- **forward** (`classification`) — a focal point of the focal agency (a `FEEDBACK_FOCAL_POINT`
  role covering it) chooses the field and the competent agency; the answer is due
  `FEEDBACK_ANSWER_DAYS` working days later (default 15, the Decision 766 index's time to
  handle). `forwarded_on_time` records whether the 3-day rule was kept.
- **decline** (`classification`) — the focal point closes one that is not feedback or a question
  (a complaint or denunciation under other laws, a duplicate, abuse), with the reason told to the
  submitter.
- **answer** (`answers`) — staff of the competent agency (specialist, leader or focal point there).
- **review** (`answers`) — the focal point publishes the answer (texts redacted of personal data,
  optionally edited first) or sends it back as unsuitable, with the reason; it returns to the
  competent agency, whose deadline stands.

Each act appends an `InquiryEvent` and the submitter is told on receipt, on decline and when the
answer is published (`lifecycle`: by the account's channels, or the contact a staff member
entered). Who may see and act on which inquiry is `access`; the lists and the public tracking
view are `queries`.
"""
