printf '%s\n' "cherry" "banana" "apple (${USER:-you}'s first fruit)" | sort | head -n 1
