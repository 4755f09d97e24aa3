"""Per-assignment synthetic data, one module per assignment (``s30kit.data.char_rnn`` for
02_char_rnn, ...). The tools every assignment uses live one level up, in ``s30kit``."""
