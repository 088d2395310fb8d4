print("zfake")
