"""The methods chainwatch is judged against, implemented here from their public descriptions."""
