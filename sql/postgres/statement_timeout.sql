SELECT set_config('statement_timeout', %(ms)s, false)
