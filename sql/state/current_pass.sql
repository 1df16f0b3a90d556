SELECT pass_id, status, attachments_root, cursor_id, reader_done, walk_cursor, walk_done, rows_done,
       head_id, cursor_old, new_done
FROM passes WHERE status = 'running' ORDER BY pass_id DESC LIMIT 1
