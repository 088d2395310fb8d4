// GraphRunner
