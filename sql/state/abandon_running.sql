UPDATE passes SET status = 'abandoned', finished_at = ? WHERE status = 'running'
